"""The target app: every technique served as paired endpoints."""
