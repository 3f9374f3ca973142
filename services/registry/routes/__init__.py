"""One APIRouter per resource of the registry API, plus the HTML pages; path parameters in :mod:`.params`."""
