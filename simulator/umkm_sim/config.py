"""Every knob of the feed simulator, with its documented default.

The two published figures are facts (Kominfo: 4.6 million UMKM online on 2017-11-15;
Kemenkop UKM: 3.79 million in its registry on the same day), and so are the e-Smart IKM
workshop targets (4,270 in 2018, 5,240 in 2019). Everything else here is an ASSUMPTION:
no public breakdown exists, so the defaults are plausible round numbers chosen to give every
step of the reconciliation bridge a visible size. See docs/SIMULATOR.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date

#: The seven marketplaces, in registry order, and how Kominfo writes their names.
MARKETPLACES = ("tokopedia", "lazada", "shopee", "bukalapak", "blibli", "blanja", "mataharimall")
KOMINFO_NAMES = {
    "tokopedia": "Tokopedia",
    "lazada": "Lazada",
    "shopee": "Shopee",
    "bukalapak": "Bukalapak",
    "blibli": "Blibli.com",
    "blanja": "Blanja.com",
    "mataharimall": "MatahariMall.com",
}
MINISTRY_SUMBER = "Kementerian/Lembaga"

#: All eleven sources in registry order (source i listens on base port + i).
SOURCES = (*MARKETPLACES, "kemenkopukm", "kemenperin", "kominfo", "bps")

#: First day a platform's accounts can carry (same as the validation suites' founding dates).
FOUNDED = {
    "tokopedia": date(2009, 1, 1),
    "bukalapak": date(2010, 1, 1),
    "blibli": date(2011, 1, 1),
    "lazada": date(2012, 1, 1),
    "blanja": date(2014, 1, 1),
    "shopee": date(2015, 1, 1),
    "mataharimall": date(2015, 1, 1),
}
#: Last day a platform publishes (contract: MatahariMall.com after 2018, Blanja.com after 2019).
UNTIL = {"mataharimall": date(2018, 12, 31), "blanja": date(2019, 12, 31)}

#: The range of snapshot dates the simulator answers.
FIRST_SNAPSHOT = date(2017, 1, 1)
LAST_SNAPSHOT = date(2019, 12, 31)
HEADLINE = date(2017, 11, 15)

#: BRIDGE.md: a counted account with this many products or more is a large enterprise.
LARGE_ENTERPRISE_MIN_PRODUCTS = 10_000
#: BRIDGE.md: a counted account is dormant when its last activity is this many days old.
DORMANT_DAYS = 90

ESMART_COMMODITIES = (
    "Kosmetik",
    "Fesyen",
    "Makanan",
    "Minuman",
    "Kerajinan",
    "Mebel",
    "Perhiasan",
    "Herbal",
    "Produk Logam",
)
ESMART_YEARS = (2017, 2018, 2019)


#: Noise profiles: `default` (the vocabulary and noise the matcher is tuned on) and
#: `heldout` (other vocabularies, other variations, at the rates of `NoiseProfile`).
PROFILES = ("default", "heldout")


@dataclass(frozen=True)
class NoiseProfile:
    """Rates of the held-out profile's variations (docs/SIMULATOR.md, "Noise profiles").

    Per record unless marked "per business". ASSUMPTIONS like every knob: plausible rates
    for text typed by sellers and clerks, not measured anywhere. The structure of the world
    (who has which shop, phone, licence) is the same as in the default profile; `SimConfig`'s
    `other_phone_rate`, `landline_share`, `nib_share` and `twin_share` apply to both, and its
    `typo_rate`, `emoji_rate` and `missing_optional_rate` to the default profile only."""

    # --- shop names ---
    legal_form_share: float = 0.5  # per business: a legal form or shop-type word
    legal_form_shown_rate: float = 0.7  # ... written on the record
    legal_form_variant_rate: float = 0.25  # ... UD/CV/PT written out, Toko/Warung/Kop. short
    legal_form_dotted_rate: float = 0.3  # ... an abbreviation written with dots (U.D., Tk.)
    legal_form_end_rate: float = 0.25  # ... at the end ("Sekar Arum, UD")
    name_punctuation_rate: float = 0.08  # a hyphen between two words, or a final period
    name_swap_rate: float = 0.05  # two adjacent words swapped
    name_typo_rate: float = 0.05  # one character dropped, doubled, swapped or mistyped
    name_space_rate: float = 0.06  # a doubled, leading or trailing space
    name_emoji_rate: float = 0.05  # an emoji at the end (marketplaces only)
    name_upper_rate: float = 0.12  # upper case (not the registry)
    name_lower_rate: float = 0.05  # lower case (not the registry)
    registry_upper_rate: float = 0.7  # registry: shop name, owner, address in upper case
    # --- owner names ---
    honorific_rate: float = 0.15  # H., Hj., Dr., Ir., S.E., Ibu, Pak ... before or after
    owner_initial_rate: float = 0.1  # a name of two or more words: one shortened to an initial
    owner_drop_rate: float = 0.06  # a name of two or three words: one word left out
    owner_swap_rate: float = 0.05  # a name of two or more words: word order swapped
    owner_typo_rate: float = 0.04  # one character dropped, doubled, swapped or mistyped
    owner_upper_rate: float = 0.15  # upper case (not the registry)
    owner_lower_rate: float = 0.04  # lower case (not the registry)
    # --- addresses ---
    address_missing_rate: float = 0.2  # the street address absent (where optional)
    street_prefix_variant_rate: float = 0.5  # Jln. / Jalan / JL / JL. / Jl instead of Jl.
    house_number_variant_rate: float = 0.5  # Nomor / No / No.12 / none instead of No.
    rt_rw_rate: float = 0.35  # RT 03/RW 05 (in one of its spellings) written
    kelurahan_rate: float = 0.3  # Kel. / Kelurahan / Desa part written
    kecamatan_rate: float = 0.3  # Kec. / Kecamatan part written
    house_letter_share: float = 0.1  # per business: a house number with a letter (12A)
    house_range_share: float = 0.04  # per business: a range of numbers (12-14)
    gang_share: float = 0.12  # per business: in an alley off the street (Gg. ...)
    gang_variant_rate: float = 0.4  # ... written Gang instead of Gg.
    komplek_share: float = 0.12  # per business: in a housing estate (Komplek / Perum ... Blok)
    komplek_variant_rate: float = 0.4  # ... written Komp. / Perumahan instead of Komplek / Perum
    address_upper_rate: float = 0.1  # upper case (registry: registry_upper_rate)
    # --- regency and province free text ---
    regency_prefix_drop_rate: float = 0.3  # no Kab. / Kota: the bare name
    regency_prefix_variant_rate: float = 0.3  # Kabupaten / Kab / Kodya / Kotamadya instead
    regency_alias_rate: float = 0.4  # a regency with a common other name written so (Solo)
    region_upper_rate: float = 0.12  # regency and province in upper case
    province_short_rate: float = 0.35  # a province with a short form written so (Jatim)
    province_missing_rate: float = 0.25  # province absent (where optional)
    # --- phones ---
    phone_intl_rate: float = 0.35  # +62 / 62 instead of the leading 0
    phone_grouped_rate: float = 0.45  # digits grouped with spaces, dashes or dots
    phone_missing_rate: float = 0.12  # absent (where optional)
    no_contact_share: float = 0.08  # per business: keeps phone and e-mail off some records
    no_contact_rate: float = 0.6  # ... on this share of its records (no phone where optional,
    #                                else a number that is not the business's; no e-mail)
    # --- e-mail, licence, national id, platforms ---
    email_missing_rate: float = 0.45  # e-mail absent
    email_upper_rate: float = 0.12  # e-mail written with upper case
    nib_shown_rate: float = 0.55  # a business's licence number shown on the record
    nik_missing_rate: float = 0.3  # registry: the owner's NIK absent
    platform_variant_rate: float = 0.6  # registry: the marketplace spelled variously (tokped)
    social_mix_rate: float = 0.5  # registry: social media listed beside the marketplace

    def with_(self, **changes) -> NoiseProfile:
        return replace(self, **changes)


def _default_shares() -> dict[str, float]:
    # ASSUMPTION: share of the published marketplace count per platform in 2017.
    return {
        "tokopedia": 0.30,
        "bukalapak": 0.25,
        "shopee": 0.18,
        "lazada": 0.12,
        "blibli": 0.07,
        "blanja": 0.05,
        "mataharimall": 0.03,
    }


def _default_esmart() -> dict[int, int]:
    # 2018 and 2019 are the published workshop targets; 2017 (the first year) is an ASSUMPTION.
    return {2017: 2_000, 2018: 4_270, 2019: 5_240}


@dataclass(frozen=True)
class SimConfig:
    """World size, structure and noise. `seed` and `scale` make the world; the rest are
    knobs with documented defaults (ASSUMPTIONS except the published figures)."""

    seed: int = 2017
    scale: float = 0.01
    faults: str = "none"
    profile: str = "default"  # noise profile (PROFILES): how the world's text is written
    noise: NoiseProfile = field(default_factory=NoiseProfile)  # the held-out profile's rates

    # --- published facts (calibration at the headline date) ---
    kominfo_total: int = 4_600_000  # Kominfo's total on 2017-11-15, scale 1
    registry_active: int = 3_790_000  # Kemenkop's active records on 2017-11-15, scale 1
    target_2019: int = 8_000_000  # Kominfo's target; the world grows toward it by 2019-12-31
    esmart_sizes: dict[int, int] = field(default_factory=_default_esmart)
    esmart_full_scale: float = 0.1  # e-Smart files shrink only below this scale ...
    esmart_min: int = 50  # ... and never below this many rows
    kominfo_gap: int = 0  # published total minus the feeds' raw count (planted step 2)

    # --- marketplace structure (ASSUMPTIONS) ---
    platform_shares: dict[str, float] = field(default_factory=_default_shares)
    multi_platform_share: float = 0.16  # businesses on 2+ platforms (per counted account)
    same_platform_share: float = 0.03  # businesses with 2-3 shops on one platform
    large_brand_share: float = 0.003  # large enterprises with a brand store + unflagged shops
    large_products_share: float = 0.002  # large enterprises flagged only by >= 10,000 products
    brand_only_share: float = 0.002  # brand-owner stores of enterprises with no other shop
    closed_before_share: float = 0.06  # shops already closed at the headline date
    close_share: float = 0.15  # open shops that close some time later
    dormant_share: float = 0.30  # businesses that stop selling at some day
    power_seller_share: float = 0.10  # power / preferred / super tiers (still regular)

    # --- registry (ASSUMPTIONS) ---
    registry_match_share: float = 0.62  # marketplace UMKM that are in Kemenkop's registry
    registry_esmart_share: float = 0.50  # e-Smart participants in the registry
    registry_inactive_share: float = 0.07  # registry records that become `nonaktif`
    registry_duplicate_share: float = 0.015  # businesses registered twice
    registry_growth: float = 0.45  # registry-only records added after the headline date
    esmart_from_marketplace: float = 0.70  # e-Smart participants already selling online

    # --- online on no list (ASSUMPTION) ---
    # odds ratio of marketplace and registry presence over all online UMKM, listed or not:
    # the no-list count is planted to match it (1.0: independent lists, as capture-recapture
    # assumes; above 1, businesses on one list are likelier on the other and Chapman
    # underestimates)
    list_odds_ratio: float = 1.0

    # --- noise (ASSUMPTIONS; tuned so a careful matcher reaches P>=0.98, R>=0.97) ---
    typo_rate: float = 0.03  # a name with one character dropped, doubled or swapped
    emoji_rate: float = 0.04  # an emoji added to the shop name
    other_phone_rate: float = 0.06  # an account with a phone that is not the business's
    landline_share: float = 0.12  # businesses whose number is a landline "(021) ..."
    nib_share: float = 0.35  # businesses with a licence number (NIB)
    twin_share: float = 0.01  # different businesses with the same name in the same regency
    missing_optional_rate: float = 0.25  # an optional field absent

    # --- invalid records a validating pipeline must quarantine ---
    invalid_share: float = 0.004  # empty names, unknown regions, future dates, bad codes
    duplicate_share: float = 0.001  # a record delivered twice in one snapshot

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(
                f"unknown noise profile {self.profile!r}: use one of {', '.join(PROFILES)}"
            )

    def with_(self, **changes) -> SimConfig:
        return replace(self, **changes)

    def esmart_size(self, year: int) -> int:
        """Rows of the e-Smart file of `year`: full size at scale >= 0.1, scaled below that
        (linearly, so 0.01 gives a tenth), never below `esmart_min`."""
        full = self.esmart_sizes[year]
        factor = min(1.0, self.scale / self.esmart_full_scale)
        return max(self.esmart_min, round(full * factor))
