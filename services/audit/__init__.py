"""The auditor's side: event streams and their chains, workflow histories and their replay,
evidence bundles, and the trail of every auditor read."""
