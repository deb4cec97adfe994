"""Data in and out: the contract, readers, validation, the database and its migrations, imports, backups, mock data."""
