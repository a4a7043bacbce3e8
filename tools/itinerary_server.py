"""An example MCP server over stdio with canned data: `python -m tools.itinerary_server`."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer

server = MCPServer("itinerary")

_HOTELS = {
    "el chaltén": [{"hotel_id": "h-chalten-1", "name": "Hostel Rancho Grande", "usd_per_night": 60}],
    "oslo": [{"hotel_id": "h-oslo-1", "name": "Hotel Bondeheimen", "usd_per_night": 180}],
}


@server.tool()
def suggest_hotels(city: str, nights: int) -> list[dict]:
    """Hotels in a city, with the price for the whole stay."""
    hotels = _HOTELS.get(city.lower(), [])
    return [{**h, "total_usd": h["usd_per_night"] * nights} for h in hotels]


@server.tool()
def search_flights(origin: str, destination: str, date: str) -> list[dict]:
    """Flights between two cities on a date."""
    return [{"flight": "XY123", "origin": origin, "destination": destination, "date": date, "usd": 230}]


if __name__ == "__main__":
    server.run("stdio")
