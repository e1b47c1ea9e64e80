"""The Insight menu and its views: lost-information panels, inspection, spectrum, check my code."""
