"""B6 Weather: current weather and forecasts by city or coordinates, from Open-Meteo."""
