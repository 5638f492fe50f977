"""The CIS's web edge: the JSON API now; the consumer portal and the 1912 console join it later."""
