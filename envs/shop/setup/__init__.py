"""What the shop environment starts or provides before tools are used."""
