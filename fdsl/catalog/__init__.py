"""Catalogs: category parameter files and manifests (``params``), the search that finds categories
(``search``), and the checked specs of a search or a render (``specs``)."""
