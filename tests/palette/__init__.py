"""The Palette registration: its dynamic provider, the client, and the fake Palette they are tested against."""
