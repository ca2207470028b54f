"""Bank statements and payment matching (issue #8): pure parsers and matching logic for now;
the models, services and pages follow."""
