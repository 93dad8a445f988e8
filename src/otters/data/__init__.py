"""otters.data"""
