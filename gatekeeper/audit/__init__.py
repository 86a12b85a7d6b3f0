"""The auditor's side: change register, evidence pack, reconciliation against Git."""
