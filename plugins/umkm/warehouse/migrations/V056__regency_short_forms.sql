-- Short forms of regency names resolve by rule (issue 19): "Kep. Aru", "Tj. Pinang",
-- "50 Kota", "Pangkep", "Tobasa". The rules are umkm_number_words, umkm_regency_short_form
-- and the search umkm_regency_code_search in functions/05_regions.sql.
--
-- Spellings remembered as unresolved are forgotten here, so the search meets them again
-- with the new rules (`umkm quarantine replay` then publishes the rows they held back).

delete from public.umkm_region_lookup
where kind = 'remembered' and regency_code is null;
