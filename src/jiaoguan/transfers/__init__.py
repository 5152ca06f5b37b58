"""Cross-region used-car transfer (二手车异地交易登记, T1-T5)."""
