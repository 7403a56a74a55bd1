"""B16 Chatbot: intents and FAQ answers staff edit, pattern and fuzzy matching with a confidence,
a callback-booking flow with slot filling, conversations with history, and an optional
OpenAI-compatible endpoint for questions nothing matches."""
