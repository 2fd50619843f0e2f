"""公文 toolkit: document model, drafting, review, compare, duplicate check, GB/T 9704 layout, minutes."""
