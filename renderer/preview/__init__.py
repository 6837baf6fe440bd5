"""The local preview studio (`tailor preview TEMPLATE`): the production renderer on sample recipients.

state (sample, edits, forced variants: pure) -> renders (page, PDF as images, draft video with its
scene timeline, kept in memory) -> studio (the last good template, lint problems, change events)
-> watch (files saved -> reload -> events) -> app (Starlette: the studio page, JSON, server-sent
events, rendered files). `preflight` checks every sample (and synthetic recipients) before a
campaign: cut text, missing glyphs, contrast, narration, links, render cost (`findings`,
`preflight_video`, `preflight_links`).
"""
