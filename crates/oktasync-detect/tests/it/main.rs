mod panther;
