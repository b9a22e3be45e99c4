-- One name per action, from the button to the stored words: a session ended from elsewhere says
-- so ('signed_out_elsewhere', was 'revoked'), and the two bulk sign-outs get their own event kinds
-- ('other_devices_signed_out' and 'unused_sessions_signed_out', both were 'other_sessions_ended').
UPDATE sessions SET end_reason = 'signed_out_elsewhere' WHERE end_reason = 'revoked';
UPDATE history_events SET kind = 'unused_sessions_signed_out'
    WHERE kind = 'other_sessions_ended' AND detail LIKE '%unused%';
UPDATE history_events SET kind = 'other_devices_signed_out' WHERE kind = 'other_sessions_ended';
