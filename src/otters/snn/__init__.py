"""otters.snn"""
