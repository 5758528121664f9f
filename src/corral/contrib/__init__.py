"""corral inside the apps users already have (DESIGN §12): ``corral.contrib.fastapi``."""
