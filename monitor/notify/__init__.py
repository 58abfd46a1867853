"""Delivery channels. SMTP is the first; each delivery is recorded so nothing is sent twice."""
