-- Run once by the postgres image on an empty volume: Rasa's tracker store gets a database
-- of its own (Rasa creates generic table names such as `events`).
CREATE DATABASE rasa_tracker OWNER hotline;
