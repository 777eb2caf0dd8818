"""The abuse suite (issue 13): each attack an outsider or another tenant could try, and how it fails."""
