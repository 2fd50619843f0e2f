"""Applications built on the core engine (knowledge, llm, safety, store, text).

Each app lives in its own package and only imports from the core; apps do not import each other.
"""
