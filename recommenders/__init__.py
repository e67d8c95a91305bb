"""Product recommenders: collaborative filtering (implicit), baselines and content models behind one interface."""
