"""What shoppers reach on a tenant's host: pages, cart, beacon, media, and the page cache."""
