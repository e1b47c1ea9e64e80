"""The window's menus and toolbar, and what File → Export and the session actions do."""
