"""otters.device"""
