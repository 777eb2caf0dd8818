"""What outside services deliver to us, where it needs a Quart route.

Empty today: Shopify's signed webhooks are taken by the ASGI layer
origin/web/asgi/webhook_intake.py alone (issue 10, item 2).
"""
