import type { Command, ComponentHandler } from '../src/discord/command.js';
import { botAdmin } from './bot-admin.js';
import { botOperator } from './bot-operator.js';
import { botStatus } from './bot-status.js';
import { edit } from './edit.js';
import { editImage, editImageModal, editImageStoredModal } from './edit-image.js';
import { history, historyButtons } from './history.js';
import { imagine } from './imagine.js';
import { quota } from './quota.js';
import { quotaAdmin } from './quota-admin.js';
import { resultActions } from './result-actions.js';
import { settings, settingsComponents } from './settings.js';

/** Every command, in one typed list: the interaction router and deploy-commands both read it. */
export const commands: readonly Command[] = [imagine, edit, editImage, quota, settings, quotaAdmin, botAdmin, history, botStatus, botOperator];

/** Every button/modal handler, routed by custom_id prefix. */
export const components: readonly ComponentHandler[] = [...resultActions, editImageModal, editImageStoredModal, ...historyButtons, ...settingsComponents];
