"""The domain over survey frames: scoring, ranking bases, items, groups, the planner, school indicators, actions."""
