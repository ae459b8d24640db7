"""CampaignStatistics ("Email campaigns"): platform campaigns become email campaign records, and
at the Detailed level their behaviour becomes send summary, click, page view, ROI and social
bookmark records (`sync_type` runs it; `datasets` reads; `rows` builds; `writer` writes)."""
