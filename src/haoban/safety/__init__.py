"""Safety and compliance layer: PII masking, sensitive words, guard, audit, users and permissions."""
