"""What outside services deliver to us: Shopify's signed webhooks."""
