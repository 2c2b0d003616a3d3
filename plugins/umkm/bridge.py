"""The reconciliation bridge's fixed step ids, in order (`docs/BRIDGE.md`, from the shared
RECONCILIATION.md). The mart, the simulator's truth, the evaluation and the drift check
all use these ids; the mart's SQL spells them out again and a dbt test pins its set; the
simulator (a separate package) keeps its own copy, pinned equal by tests/sim/test_package.py."""

STEP_IDS: tuple[str, ...] = (
    "kominfo_published",
    "feed_recount_gap",
    "ministry_list_records",
    "same_platform_duplicate_shops",
    "cross_platform_duplicates",
    "large_enterprises",
    "dormant_accounts",
    "not_in_registry",
    "registry_only",
    "kemenkopukm_registry",
)
