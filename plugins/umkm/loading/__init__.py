"""Raw landing: pull a snapshot into a batch table, then publish it (write, audit, publish).

result = extract_load("tokopedia", "2017-11-15")      # status "loaded" or "no_data"
skip_if_unchanged("tokopedia", "2017-11-15", result.batch_id)  # same delivery: done here
# ... validation (umkm.validation) may quarantine rows of the batch here ...
publish("tokopedia", "2017-11-15", result.batch_id)   # or discard(..., error)
"""

from umkm.loading.extract import LoadResult, Progress, extract_load
from umkm.loading.publish import discard, publish, skip_if_unchanged

__all__ = ["LoadResult", "Progress", "discard", "extract_load", "publish", "skip_if_unchanged"]
