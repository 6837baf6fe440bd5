"""The local preview studio: its pieces render what the studio shows beside a template."""
