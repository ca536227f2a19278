"""The dashboard's pages: webhooks (overview and management), history (the detail page with
metrics and the delivery bars, bulk resends) and deliveries (one delivery's attempts)."""
