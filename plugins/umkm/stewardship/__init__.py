"""Data stewardship: the review of entity resolution's uncertain pairs (`umkm er`)."""
