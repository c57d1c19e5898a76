"""Infrastructure tests: the Terraform module read with python-hcl2 (tests/support/infra.py) and
the checkov wiring; nothing is started. No fixtures of their own."""
