"""The HTTP wing, the only one that imports aiohttp: the application, its surfaces, the admin
API, delivery of a plan's answer, the connections' guards and the fixture reloader."""
