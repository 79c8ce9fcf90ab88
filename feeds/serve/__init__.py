"""Serve: the HTTP app over the published directory (ETag/304, gzip, partner tokens)."""
