"""The dashboard's pages: webhooks (overview and management), history (the detail page with
metrics and the delivery bars, bulk resends), deliveries (one delivery's attempts) and
preflight (Tillhub's checklist run against a webhook's endpoint)."""
