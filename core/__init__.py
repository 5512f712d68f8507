"""Shared home of Cryptosense: settings, typed records, storage and small utilities.

Every stage package (collectors, nlp, fusion, agent, api) may import from here; nothing in
here imports from a stage package.
"""
