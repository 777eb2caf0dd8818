"""Server-rendered pages for merchants: the signed-link analytics dashboard, and the coming seller panel."""
