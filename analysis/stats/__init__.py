"""Pure statistics over arrays: rank uncertainty, survey estimates, design-based weighting, key drivers."""
