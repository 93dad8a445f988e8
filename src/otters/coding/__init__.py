"""otters.coding"""
