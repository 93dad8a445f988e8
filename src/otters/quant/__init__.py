"""otters.quant"""
