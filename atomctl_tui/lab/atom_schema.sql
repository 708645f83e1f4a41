-- The part of AtoM's database that atomctl-tui reads and the lab's stand-ins write: AtoM's
-- table and column names and types (AtoM 2.9), written for the lab; the rest of AtoM's
-- schema (term, actor, information_object, ...) is left out, so no foreign key points there.
-- Status terms: 183 in progress, 184 completed, 185 error; note type 197 is an error note.

CREATE TABLE `object` (
    `class_name` VARCHAR(255),
    `created_at` DATETIME NOT NULL,
    `updated_at` DATETIME NOT NULL,
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `serial_number` INTEGER DEFAULT 0 NOT NULL,
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `user` (
    `id` INTEGER NOT NULL,
    `username` VARCHAR(255),
    `email` VARCHAR(255),
    `password_hash` VARCHAR(255),
    `salt` VARCHAR(255),
    `active` TINYINT DEFAULT 1,
    PRIMARY KEY (`id`),
    FOREIGN KEY (`id`) REFERENCES `object` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `job` (
    `id` INTEGER NOT NULL,
    `name` VARCHAR(255),
    `download_path` TEXT,
    `completed_at` DATETIME,
    `user_id` INTEGER,
    `object_id` INTEGER,
    `status_id` INTEGER,
    `output` TEXT,
    PRIMARY KEY (`id`),
    INDEX `job_FI_2` (`user_id`),
    INDEX `job_FI_3` (`object_id`),
    INDEX `job_FI_4` (`status_id`),
    FOREIGN KEY (`id`) REFERENCES `object` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL,
    FOREIGN KEY (`object_id`) REFERENCES `object` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `note` (
    `object_id` INTEGER NOT NULL,
    `type_id` INTEGER,
    `scope` VARCHAR(1024),
    `user_id` INTEGER,
    `source_culture` VARCHAR(16) NOT NULL,
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `serial_number` INTEGER DEFAULT 0 NOT NULL,
    PRIMARY KEY (`id`),
    INDEX `note_FI_1` (`object_id`),
    INDEX `note_FI_2` (`type_id`),
    INDEX `note_FI_3` (`user_id`),
    FOREIGN KEY (`object_id`) REFERENCES `object` (`id`) ON DELETE CASCADE,
    FOREIGN KEY (`user_id`) REFERENCES `user` (`id`) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `note_i18n` (
    `content` TEXT,
    `id` INTEGER NOT NULL,
    `culture` VARCHAR(16) NOT NULL,
    PRIMARY KEY (`id`, `culture`),
    FOREIGN KEY (`id`) REFERENCES `note` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `slug` (
    `object_id` INTEGER NOT NULL,
    `slug` VARCHAR(255) NOT NULL,
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `serial_number` INTEGER DEFAULT 0 NOT NULL,
    PRIMARY KEY (`id`),
    UNIQUE KEY `slug_U_1` (`object_id`),
    UNIQUE KEY `slug_U_2` (`slug`),
    FOREIGN KEY (`object_id`) REFERENCES `object` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `setting` (
    `name` VARCHAR(255),
    `scope` VARCHAR(255),
    `editable` TINYINT DEFAULT 0,
    `deleteable` TINYINT DEFAULT 0,
    `source_culture` VARCHAR(16) NOT NULL,
    `id` INTEGER NOT NULL AUTO_INCREMENT,
    `serial_number` INTEGER DEFAULT 0 NOT NULL,
    PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `setting_i18n` (
    `value` TEXT,
    `id` INTEGER NOT NULL,
    `culture` VARCHAR(16) NOT NULL,
    PRIMARY KEY (`id`, `culture`),
    FOREIGN KEY (`id`) REFERENCES `setting` (`id`) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
