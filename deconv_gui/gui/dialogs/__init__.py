"""The export dialog and the "Copy as code" dialog."""
